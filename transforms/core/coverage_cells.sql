-- Covered persons per reference date, sector and district, split by category: the one
-- small table every coverage mart adds up, so a person is counted once everywhere.
with primary_accounts as (
    select * from core.primary_accounts
),

final as (
    select
        year,
        ref_date,
        sector,
        district,
        count(*) as covered,
        count(*) filter (where category = 'formal') as covered_formal,
        count(*) filter (where category = 'informal') as covered_informal,
        count(*) filter (where category = 'vulnerable') as covered_vulnerable
    from primary_accounts
    group by year, ref_date, sector, district
    order by year, sector, district
)

select * from final
