-- The current version of each membership account (same rule as employers), with what a
-- covered person takes from their primary account: priority, category and sector.
with account_versions as (
    select * from staging.enrolments
),

kbli_divisions as (
    select * from staging.kbli_divisions
),

employers as (
    select npp, sector from core.employers
),

current_versions as (
    select *
    from account_versions
    qualify row_number() over (
        partition by account_key
        order by updated_at desc, extract_date desc
    ) = 1
),

final as (
    select
        current_versions.account_key,
        current_versions.person_key,
        current_versions.npp,
        current_versions.segment,
        case current_versions.segment
            when 'PU' then 1
            when 'JAKON' then 2
            when 'BPU' then 3
        end as segment_priority,
        case
            when current_versions.segment in ('PU', 'JAKON') then 'formal'
            when current_versions.contribution_source = 'APBD' then 'vulnerable'
            else 'informal'
        end as category,
        -- a wage earner works in the employer's sector; until that employer is loaded,
        -- the account's own kbli stands in
        case
            when current_versions.segment in ('PU', 'JAKON')
                then coalesce(employers.sector, account_kbli.sector, 'X')
            else coalesce(account_kbli.sector, 'X')
        end as sector,
        current_versions.kbli,
        current_versions.district,
        current_versions.programs,
        current_versions.wage,
        current_versions.contribution_source,
        current_versions.start_date,
        current_versions.end_date,
        current_versions.status,
        current_versions.updated_at,
        current_versions.extract_date
    from current_versions
    left join kbli_divisions as account_kbli using (kbli_division)
    left join employers using (npp)
)

select * from final
