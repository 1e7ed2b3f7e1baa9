-- Published: one row per reported year and section A..U (zero-filled), plus X in a year
-- where any covered person's sector is unknown (docs/published-tables.md).
with coverage_measures as (
    select * from core.coverage_measures
),

sectors as (
    select * from staging.sectors
),

by_sector as (
    select * from coverage_measures
    where scope <> 'ALL'
),

final as (
    select
        by_sector.year::integer as year,
        by_sector.ref_date::date as ref_date,
        by_sector.scope::varchar as sector,
        sectors.sector_name::varchar as sector_name,
        by_sector.workforce::bigint as workforce,
        by_sector.workforce_formal::bigint as workforce_formal,
        by_sector.workforce_carried_forward::boolean as workforce_carried_forward,
        by_sector.covered::bigint as covered,
        by_sector.covered_formal::bigint as covered_formal,
        by_sector.covered_informal::bigint as covered_informal,
        by_sector.covered_vulnerable::bigint as covered_vulnerable,
        by_sector.coverage_rate::double as coverage_rate,
        by_sector.formal_coverage_rate::double as formal_coverage_rate,
        by_sector.target_rate::double as target_rate,
        by_sector.gap_workers::bigint as gap_workers,
        by_sector.on_track::boolean as on_track
    from by_sector
    left join sectors on sectors.sector = by_sector.scope
    order by year, sector
)

select * from final
