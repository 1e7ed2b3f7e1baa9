-- The floor: the published city and sector counts straight from the landing files with
-- plain DuckDB, per docs/published-tables.md, with no validation, no hashing, no audit and
-- no orchestration. The harness sets the variable `landing` (the landing folder) first
-- and reads the table `coverage` at the end.
--
-- Made as fast as plain SQL gets here, not a straw man:
-- - the columns are declared in the generator's order instead of sniffed: sniffing costs
--   more per file than reading one of the ~4,400 small daily deltas;
-- - kpj, nik and npp are all digits, so they are read as integers (same equality, and the
--   same order as the fixed-width text), and every other value an account keeps is
--   reduced to a small code before the versions are grouped: the grouping then holds a few
--   bytes per account instead of its text.
set enable_progress_bar = false;
-- held to the memory budget Cakupan is held to (4 GB at province scale), less headroom for
-- what DuckDB allocates outside its buffer pool; beyond it DuckDB spills to disk
set memory_limit = '3GB';

-- KBLI 2020 section of a division, the first two digits of a code
-- (warehouse/reference/kbli_divisions.csv; the clean landings hold no invalid division)
create temp macro kbli_section(division) as (
    case
        when division is null then null
        when division <= 3 then 'A'
        when division <= 9 then 'B'
        when division <= 33 then 'C'
        when division = 35 then 'D'
        when division <= 39 then 'E'
        when division <= 43 then 'F'
        when division <= 47 then 'G'
        when division <= 53 then 'H'
        when division <= 56 then 'I'
        when division <= 63 then 'J'
        when division <= 66 then 'K'
        when division = 68 then 'L'
        when division <= 75 then 'M'
        when division <= 82 then 'N'
        when division = 84 then 'O'
        when division = 85 then 'P'
        when division <= 88 then 'Q'
        when division <= 93 then 'R'
        when division <= 96 then 'S'
        when division <= 98 then 'T'
        else 'U'
    end
);

-- The rows counted: the landing's files as they are. A harness that validated and stored
-- them first (benchmarks/same_work.py) has defined these two views over its rows already.
create temp view if not exists employer_source as
select *, file_index from read_csv(
        getvariable('landing') || '/employers_*.csv*',
        header = true, auto_detect = false,
        columns = {
            'npp': 'integer', 'name': 'varchar', 'kbli': 'varchar', 'district': 'varchar',
            'size_class': 'varchar', 'reported_workers': 'varchar', 'registered_on': 'varchar',
            'status': 'varchar', 'updated_at': 'timestamp'
        }
    );

create temp view if not exists enrolment_source as
select *, file_index from read_csv(
        getvariable('landing') || '/enrolments_*.csv*',
        header = true, auto_detect = false,
        columns = {
            'kpj': 'bigint', 'nik': 'bigint', 'npp': 'integer', 'segment': 'varchar',
            'kbli': 'varchar', 'district': 'varchar', 'programs': 'varchar', 'wage': 'varchar',
            'contribution_source': 'varchar', 'start_date': 'date', 'end_date': 'date',
            'status': 'varchar', 'updated_at': 'timestamp'
        }
    );

create temp table coverage as
-- file_index numbers the files in name order, which for one kind is extract date order
-- (employers_YYYYMMDD.csv[.gz]): it breaks an updated_at tie without parsing a name
with employer_versions as (
    select npp, left(kbli, 2)::utinyint as division, updated_at, file_index
    from employer_source
),

current_employers as (
    select npp, arg_max(division, (updated_at, file_index)) as division
    from employer_versions
    group by npp
),

account_versions as (
    select
        kpj,
        nik,
        npp,
        case segment when 'PU' then 1 when 'JAKON' then 2 else 3 end::utinyint as segment_priority,
        case
            when segment in ('PU', 'JAKON') then 'formal'
            when contribution_source = 'APBD' then 'vulnerable'
            else 'informal'
        end as category,
        left(kbli, 2)::utinyint as division,
        start_date,
        end_date,
        status = 'BATAL' as void,
        updated_at,
        file_index
    from enrolment_source
),

current_accounts as (
    select
        kpj,
        arg_max(
            {'nik': nik, 'npp': npp, 'segment_priority': segment_priority, 'category': category,
             'division': division, 'start_date': start_date, 'end_date': end_date, 'void': void},
            (updated_at, file_index)
        ) as account
    from account_versions
    group by kpj
),

-- the latest extract date among the files, header-only ones included
as_of as (
    select max(strptime(regexp_extract(file, '_(\d{8})\.csv', 1), '%Y%m%d')::date) as as_of
    from glob(getvariable('landing') || '/*_*.csv*')
),

-- workforce figures (warehouse/reference/workforce.csv) start in 2020 and reach past
-- every as_of of these landings, so the reported years are 2020..year(as_of)
reporting_years as (
    select year::integer as year, least(make_date(year::integer, 12, 31), as_of) as ref_date
    from as_of, range(2020, year(as_of) + 1) as years(year)
),

accounts as (
    select
        kpj,
        account.nik,
        account.segment_priority,
        account.category,
        -- a wage earner works in the employer's sector; until that employer is loaded,
        -- the account's own kbli stands in
        coalesce(
            kbli_section(case when account.segment_priority < 3 then current_employers.division end),
            kbli_section(account.division),
            'X'
        ) as sector,
        account.start_date,
        account.end_date
    from current_accounts
    left join current_employers on current_employers.npp = current_accounts.account.npp
    where not account.void
),

-- per person and reference date, the primary account: highest segment priority, then
-- the latest start_date, then the smallest kpj
primary_accounts as (
    select
        year,
        ref_date,
        arg_min((category, sector), (segment_priority, -epoch(start_date), kpj)) as primary_account
    from accounts
    inner join reporting_years
        on start_date <= ref_date and (end_date is null or end_date > ref_date)
    group by year, ref_date, nik
)

select
    year,
    ref_date,
    coalesce(primary_account[2], 'ALL') as scope,
    count(*) as covered,
    count(*) filter (where primary_account[1] = 'formal') as covered_formal,
    count(*) filter (where primary_account[1] = 'informal') as covered_informal,
    count(*) filter (where primary_account[1] = 'vulnerable') as covered_vulnerable
from primary_accounts
group by grouping sets ((year, ref_date), (year, ref_date, primary_account[2]))
order by year, scope;
