with source as (
    select * from ref.targets
),

renamed as (
    select
        year::integer as year,
        sector::varchar as sector,   -- a section letter, or 'ALL' for every sector without its own row
        target_rate::double as target_rate
    from source
),

final as (
    select * from renamed
)

select * from final
