-- Every loaded version of every membership account; nik and kpj exist only as HMAC.
with source as (
    select * from raw.enrolments
),

renamed as (
    select
        -- the first 128 bits of each HMAC as a number: a fixed-width key for partitioning
        -- and ordering millions of rows, in the same order as the hex text; a collision is
        -- practically impossible (birthday bound ~1e-26 at a province's 5M accounts)
        ('0x' || left(kpj_hmac, 32))::uhugeint as account_key,
        ('0x' || left(nik_hmac, 32))::uhugeint as person_key,
        kpj_hmac,
        nik_hmac,
        npp,
        segment,
        kbli,
        left(kbli, 2) as kbli_division,
        district,
        programs,
        wage,
        contribution_source,
        start_date,
        end_date,
        status,
        updated_at,
        extract_date,
        file_name
    from source
),

final as (
    select * from renamed
)

select * from final
