-- Coverage against workforce and target per reported year and scope: each section A..U
-- (zero-filled), X where any covered person has it, and ALL (the whole city). The rates,
-- the gap and on_track are defined here once for the city and the sector marts.
with reporting_years as (
    select * from core.reporting_years
),

coverage_cells as (
    select * from core.coverage_cells
),

sectors as (
    select sector from staging.sectors
    where sector <> 'X'
),

workforce as (
    select * from staging.workforce
),

targets as (
    select * from staging.targets
),

-- the sections' rows and, as scope ALL, the whole city's
covered_by_scope as (
    select
        year,
        coalesce(sector, 'ALL') as scope,
        sum(covered) as covered,
        sum(covered_formal) as covered_formal,
        sum(covered_informal) as covered_informal,
        sum(covered_vulnerable) as covered_vulnerable
    from coverage_cells
    group by grouping sets ((year, sector), (year))
),

workforce_by_scope as (
    select
        year,
        coalesce(sector, 'ALL') as scope,
        sum(employed) as employed,
        sum(employed_formal) as employed_formal
    from workforce
    group by grouping sets ((year, sector), (year))
),

scopes as (
    select reporting_years.year, sectors.sector as scope
    from reporting_years
    cross join sectors

    union all

    select year, 'ALL' from reporting_years

    union all

    select year, scope from covered_by_scope
    where scope = 'X'
),

measured as (
    select
        reporting_years.year,
        reporting_years.ref_date,
        scopes.scope,
        workforce_by_scope.employed as workforce,
        workforce_by_scope.employed_formal as workforce_formal,
        workforce_by_scope.year < reporting_years.year as workforce_carried_forward,
        coalesce(covered_by_scope.covered, 0) as covered,
        coalesce(covered_by_scope.covered_formal, 0) as covered_formal,
        coalesce(covered_by_scope.covered_informal, 0) as covered_informal,
        coalesce(covered_by_scope.covered_vulnerable, 0) as covered_vulnerable,
        -- a sector without its own target row takes the year's ALL target; X has none
        case
            when scopes.scope <> 'X'
                then coalesce(scope_targets.target_rate, all_targets.target_rate)
        end as target_rate
    from scopes
    inner join reporting_years using (year)
    left join workforce_by_scope
        on workforce_by_scope.year = reporting_years.workforce_year
        and workforce_by_scope.scope = scopes.scope
    left join covered_by_scope
        on covered_by_scope.year = scopes.year
        and covered_by_scope.scope = scopes.scope
    left join targets as scope_targets
        on scope_targets.year = scopes.year
        and scope_targets.sector = scopes.scope
    left join targets as all_targets
        on all_targets.year = scopes.year
        and all_targets.sector = 'ALL'
),

final as (
    select
        year,
        ref_date,
        scope,
        workforce,
        workforce_formal,
        workforce_carried_forward,
        covered,
        covered_formal,
        covered_informal,
        covered_vulnerable,
        covered / nullif(workforce, 0) as coverage_rate,
        covered_formal / nullif(workforce_formal, 0) as formal_coverage_rate,
        target_rate,
        -- rounded before ceil so that binary noise in target x workforce (0.07 x 100 =
        -- 7.000000000000001) does not add a worker; greatest() would skip a NULL, hence case
        case
            when target_rate is not null and workforce is not null
                then greatest(0, ceil(round(target_rate * workforce, 6)) - covered)
        end as gap_workers,
        covered / nullif(workforce, 0) >= target_rate as on_track
    from measured
    order by year, scope
)

select * from final
