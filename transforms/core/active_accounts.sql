-- materialized: view
-- One row per account and reference date on which it is active. A join on the handful of
-- reference dates, never a calendar: each account is compared with each date once.
with accounts as (
    select * from core.accounts
),

reference_dates as (
    select year, ref_date from core.reporting_years
),

final as (
    select
        reference_dates.year,
        reference_dates.ref_date,
        accounts.*
    from accounts
    inner join reference_dates
        on accounts.start_date <= reference_dates.ref_date
        and (accounts.end_date is null or accounts.end_date > reference_dates.ref_date)
    where accounts.status <> 'BATAL'   -- void from the start: never active
)

select * from final
