with source as (
    select * from ref.sectors
),

renamed as (
    select
        sector::varchar as sector,
        sector_name::varchar as sector_name,
        sector_name_en::varchar as sector_name_en
    from source
),

final as (
    select * from renamed
)

select * from final
