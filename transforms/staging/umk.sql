with source as (
    select * from ref.umk
),

renamed as (
    select
        year::integer as year,
        umk::bigint as umk   -- rupiah per month
    from source
),

final as (
    select * from renamed
)

select * from final
