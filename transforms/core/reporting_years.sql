-- The years reported and their reference dates ref(Y) = min(Y-12-31, as_of): every year
-- up to year(as_of) with workforce figures, plus year(as_of) itself, whose workforce is
-- carried forward from the latest earlier year when it has none.
with as_of as (
    select as_of from core.as_of
    where as_of is not null
),

workforce_years as (
    select distinct year from staging.workforce
),

years as (
    select workforce_years.year
    from workforce_years
    cross join as_of
    where workforce_years.year <= year(as_of.as_of)

    union

    select year(as_of) from as_of
),

workforce_sources as (
    select
        years.year,
        max(workforce_years.year) as workforce_year
    from years
    left join workforce_years on workforce_years.year <= years.year
    group by years.year
),

final as (
    select
        workforce_sources.year::integer as year,
        least(make_date(workforce_sources.year, 12, 31), as_of.as_of) as ref_date,
        workforce_sources.workforce_year::integer as workforce_year
    from workforce_sources
    cross join as_of
    order by year
)

select * from final
