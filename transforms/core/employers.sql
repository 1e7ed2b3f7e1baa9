-- The current version of each employer: latest updated_at, on a tie the later extract,
-- so the order in which files were loaded never matters.
with employer_versions as (
    select * from staging.employers
),

kbli_divisions as (
    select * from staging.kbli_divisions
),

current_versions as (
    select *
    from employer_versions
    qualify row_number() over (
        partition by npp
        order by updated_at desc, extract_date desc
    ) = 1
),

final as (
    select
        current_versions.npp,
        current_versions.name,
        current_versions.kbli,
        kbli_divisions.sector,
        current_versions.district,
        current_versions.size_class,
        current_versions.reported_workers,
        current_versions.registered_on,
        current_versions.status,
        current_versions.updated_at,
        current_versions.extract_date
    from current_versions
    left join kbli_divisions using (kbli_division)
)

select * from final
