with source as (
    select * from ref.workforce
),

renamed as (
    select
        year::integer as year,
        sector::varchar as sector,
        employed::bigint as employed,
        employed_formal::bigint as employed_formal
    from source
),

final as (
    select * from renamed
)

select * from final
