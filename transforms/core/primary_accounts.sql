-- materialized: view
-- One row per covered person (nik) and reference date: their primary account, the active
-- one with the highest segment priority (PU > JAKON > BPU), then the latest start_date,
-- then the smallest kpj (its HMAC, in the order of account_key: the raw kpj never
-- reaches the warehouse).
with active_accounts as (
    select * from core.active_accounts
),

final as (
    select
        year,
        ref_date,
        person_key,
        account_key,
        segment,
        category,
        sector,
        district
    from active_accounts
    qualify row_number() over (
        partition by year, person_key
        order by segment_priority, start_date desc, account_key
    ) = 1
)

select * from final
