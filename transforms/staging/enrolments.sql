-- Every loaded version of every membership account; nik and kpj exist only as HMAC.
with source as (
    select * from raw.enrolments
),

renamed as (
    select
        -- the first 128 bits of each HMAC as a number: fixed-width keys group and sort
        -- several times faster than 64-character text, keep the order of the hex text,
        -- and cannot collide in practice (birthday bound ~1e-26 at a province's 5M)
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
