-- Tables the pipeline owns: created on every connection, idempotent.
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
    processed_at timestamp not null
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
    started_at timestamp not null,
    finished_at timestamp,
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
    recorded_at timestamp not null
);
