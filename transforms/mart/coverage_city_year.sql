-- Published: one row per reported year for the whole city (docs/published-tables.md).
with coverage_measures as (
    select * from core.coverage_measures
),

city as (
    select * from coverage_measures
    where scope = 'ALL'
),

final as (
    select
        year::integer as year,
        ref_date::date as ref_date,
        workforce::bigint as workforce,
        workforce_carried_forward::boolean as workforce_carried_forward,
        covered::bigint as covered,
        covered_formal::bigint as covered_formal,
        covered_informal::bigint as covered_informal,
        covered_vulnerable::bigint as covered_vulnerable,
        coverage_rate::double as coverage_rate,
        target_rate::double as target_rate,
        gap_workers::bigint as gap_workers,
        on_track::boolean as on_track
    from city
    order by year
)

select * from final
