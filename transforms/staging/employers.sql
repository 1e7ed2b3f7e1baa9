-- Every loaded version of every employer row; picking the current one is core's job.
with source as (
    select * from raw.employers
),

renamed as (
    select
        npp,
        name,
        kbli,
        left(kbli, 2) as kbli_division,
        district,
        size_class,
        reported_workers,
        registered_on,
        status,
        updated_at,
        extract_date,
        file_name
    from source
),

final as (
    select * from renamed
)

select * from final
