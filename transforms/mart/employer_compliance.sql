-- Published: the labour inspectors' work list, one row per employer whose current status
-- is AKTIF, as of as_of (docs/published-tables.md).
with employers as (
    select * from core.employers
),

as_of as (
    select as_of from core.as_of
    where as_of is not null
),

active_accounts as (
    select * from core.active_accounts
),

umk as (
    select * from staging.umk
),

wage_floor as (
    select umk.umk
    from umk
    inner join as_of on umk.year = year(as_of.as_of)
),

employer_accounts_on_as_of as (
    select
        active_accounts.npp,
        active_accounts.person_key,
        active_accounts.wage
    from active_accounts
    inner join as_of on active_accounts.ref_date = as_of.as_of
    where active_accounts.segment in ('PU', 'JAKON')
),

enrolment_by_employer as (
    select
        employer_accounts_on_as_of.npp,
        count(distinct employer_accounts_on_as_of.person_key) as enrolled_workers,
        count(*) filter (
            where employer_accounts_on_as_of.wage < wage_floor.umk
        ) as below_umk_accounts
    from employer_accounts_on_as_of
    left join wage_floor on true
    group by employer_accounts_on_as_of.npp
),

compliance as (
    select
        employers.npp,
        employers.name,
        employers.sector,
        employers.district,
        employers.size_class,
        employers.reported_workers,
        coalesce(enrolment_by_employer.enrolled_workers, 0) as enrolled_workers,
        -- NULL, not 0, when year(as_of) has no UMK: an unknown floor flags nobody
        case
            when wage_floor.umk is not null
                then coalesce(enrolment_by_employer.below_umk_accounts, 0)
        end as below_umk_accounts
    from employers
    cross join as_of
    left join wage_floor on true
    left join enrolment_by_employer using (npp)
    where employers.status = 'AKTIF'
),

final as (
    select
        npp::varchar as npp,
        name::varchar as name,
        sector::varchar as sector,
        district::varchar as district,
        size_class::varchar as size_class,
        reported_workers::bigint as reported_workers,
        enrolled_workers::bigint as enrolled_workers,
        greatest(0, reported_workers - enrolled_workers)::bigint as unregistered_workers,
        below_umk_accounts::bigint as below_umk_accounts,
        greatest(0, reported_workers - enrolled_workers) > 0 as pds_workers,
        below_umk_accounts > 0 as pds_wage
    from compliance
    order by npp
)

select * from final
