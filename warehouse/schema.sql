-- Tables the pipeline owns: created on every connection, idempotent.
-- Every time kept is a UTC instant (timestamptz; warehouse/clock.py); extract values keep
-- the extracts' own local timestamps (updated_at).
-- Published tables (schema mart) are built by transforms/, not here.
create schema if not exists raw;
create schema if not exists audit;
create schema if not exists ref;
create schema if not exists staging;
create schema if not exists core;
create schema if not exists mart;

-- Rows of the loaded version of each landed file; a re-delivery replaces its file's rows.
-- Values are typed (every row passed validation); nik and kpj only as HMAC-SHA256 hex.
create table if not exists raw.employers (
    file_name varchar not null,
    sha256 varchar not null,
    extract_date date not null,
    row_number bigint not null,          -- 1 = first data row after the header
    npp varchar not null,
    name varchar not null,
    kbli varchar not null,
    district varchar not null,
    size_class varchar not null,
    reported_workers bigint not null,
    registered_on date not null,
    status varchar not null,
    updated_at timestamp not null
);

create table if not exists raw.enrolments (
    file_name varchar not null,
    sha256 varchar not null,
    extract_date date not null,
    row_number bigint not null,
    kpj_hmac varchar not null,           -- HMAC-SHA256(key, kpj), lower-case hex
    nik_hmac varchar not null,           -- HMAC-SHA256(key, nik), lower-case hex
    npp varchar,
    segment varchar not null,
    kbli varchar,
    district varchar not null,
    programs varchar not null,
    wage bigint not null,                -- rupiah per month
    contribution_source varchar not null,
    start_date date not null,
    end_date date,
    status varchar not null,
    updated_at timestamp not null
);

create table if not exists audit.extract_files (
    file_name varchar not null,
    kind varchar not null,               -- employers | enrolments
    extract_date date,                   -- null when the name holds no valid date
    sha256 varchar not null,
    status varchar not null,             -- LOADED | REJECTED | SUPERSEDED
    reason varchar,                      -- null when loaded
    rows_read bigint,
    rows_loaded bigint,
    rows_quarantined bigint,
    rows_duplicate bigint,
    run_id varchar not null,
    processed_at timestamptz not null
);

create table if not exists audit.quarantine (
    file_name varchar not null,
    sha256 varchar not null,
    row_number bigint not null,
    rules varchar[] not null,            -- every rule id the row breaks
    record varchar not null              -- the row as JSON, nik and kpj masked
);

create table if not exists audit.runs (
    run_id varchar primary key,
    flow varchar not null,               -- nightly | backfill
    parameters varchar,                  -- JSON
    started_at timestamptz not null,
    finished_at timestamptz,
    state varchar not null,              -- RUNNING | COMPLETED | FAILED | CRASHED
    files_loaded bigint,
    files_rejected bigint,
    as_of date
);
-- Why a run is CRASHED (it ended without recording its end); finished_at is when that was noticed.
alter table audit.runs add column if not exists reason varchar;

-- Fingerprint of the pseudonymisation key: person counts depend on a stable key.
create table if not exists audit.pii_key (
    fingerprint varchar not null,
    recorded_at timestamptz not null
);

-- Warehouses created before a column existed get it when opened.
alter table audit.runs add column if not exists freshness varchar;   -- fresh | late | stale; null for a backfill

-- What every run published (docs/published-tables.md, "History"). Append-only: rows are
-- inserted in the transaction that rebuilds mart.*, never updated or deleted. The figure
-- tables are run_id followed by every column of the mart table of the same name.
create schema if not exists history;

create table if not exists history.publications (
    run_id varchar not null,
    flow varchar not null,               -- nightly | backfill
    published_at timestamptz not null,
    as_of date,                          -- null when nothing was loaded
    files_loaded bigint not null,
    files_rejected bigint not null,
    changed boolean not null             -- any figure differs from the previous publication's
);

create table if not exists history.coverage_city_year (
    run_id varchar not null,
    year integer,
    ref_date date,
    workforce bigint,
    workforce_carried_forward boolean,
    covered bigint,
    covered_formal bigint,
    covered_informal bigint,
    covered_vulnerable bigint,
    coverage_rate double,
    target_rate double,
    gap_workers bigint,
    on_track boolean
);

create table if not exists history.coverage_sector_year (
    run_id varchar not null,
    year integer,
    ref_date date,
    sector varchar,
    sector_name varchar,
    workforce bigint,
    workforce_formal bigint,
    workforce_carried_forward boolean,
    covered bigint,
    covered_formal bigint,
    covered_informal bigint,
    covered_vulnerable bigint,
    coverage_rate double,
    formal_coverage_rate double,
    target_rate double,
    gap_workers bigint,
    on_track boolean
);

create table if not exists history.coverage_district_year (
    run_id varchar not null,
    year integer,
    ref_date date,
    district varchar,
    covered bigint,
    covered_formal bigint,
    covered_informal bigint,
    covered_vulnerable bigint
);

-- What an explanation of a change between two publications needs (warehouse/versions.py).
-- The rows of a file version that is no longer in force (replaced by a re-delivery, or
-- withdrawn by a rejected one), moved here from raw.* in the transaction that replaces it:
-- raw.* keeps only the versions in force, so the rebuild of mart.* reads no more than before.
create table if not exists raw.superseded_employers as select * from raw.employers limit 0;
create table if not exists raw.superseded_enrolments as select * from raw.enrolments limit 0;

-- One row per publication made since the warehouse keeps its files in force; a publication
-- without a row here predates that, and what it counted is not known.
create table if not exists history.publication_files (
    run_id varchar not null,
    sequence bigint not null,            -- 1, 2, ... in publication order
    versions_in_force bigint not null
);

-- Append-only: the file versions that came into force ('in') or left it ('out') at each
-- publication, against the previous one. A version is (file_name, sha256).
create table if not exists history.file_version_changes (
    run_id varchar not null,
    file_name varchar not null,
    kind varchar not null,
    extract_date date,
    sha256 varchar not null,
    change varchar not null              -- in | out
);
