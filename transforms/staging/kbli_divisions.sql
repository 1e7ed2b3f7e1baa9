with source as (
    select * from ref.kbli_divisions
),

renamed as (
    select
        division::varchar as kbli_division,
        sector::varchar as sector
    from source
),

final as (
    select * from renamed
)

select * from final
