-- Published: covered persons per reported year and district, all five zero-filled
-- (docs/published-tables.md). No workforce by district exists, so no rate.
with reporting_years as (
    select * from core.reporting_years
),

districts as (
    select district from staging.districts
),

coverage_cells as (
    select * from core.coverage_cells
),

covered_by_district as (
    select
        year,
        district,
        sum(covered) as covered,
        sum(covered_formal) as covered_formal,
        sum(covered_informal) as covered_informal,
        sum(covered_vulnerable) as covered_vulnerable
    from coverage_cells
    group by year, district
),

final as (
    select
        reporting_years.year::integer as year,
        reporting_years.ref_date::date as ref_date,
        districts.district::varchar as district,
        coalesce(covered_by_district.covered, 0)::bigint as covered,
        coalesce(covered_by_district.covered_formal, 0)::bigint as covered_formal,
        coalesce(covered_by_district.covered_informal, 0)::bigint as covered_informal,
        coalesce(covered_by_district.covered_vulnerable, 0)::bigint as covered_vulnerable
    from reporting_years
    cross join districts
    left join covered_by_district
        on covered_by_district.year = reporting_years.year
        and covered_by_district.district = districts.district
    order by year, district
)

select * from final
