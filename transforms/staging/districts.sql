with source as (
    select * from ref.districts
),

renamed as (
    select
        district::varchar as district,
        kemendagri_code::varchar as kemendagri_code,
        population_2023::bigint as population_2023,
        population_share::double as population_share
    from source
),

final as (
    select * from renamed
)

select * from final
