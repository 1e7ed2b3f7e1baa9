-- Files whose rows currently count: rejected and superseded versions are left out.
with source as (
    select * from audit.extract_files
),

renamed as (
    select
        file_name,
        kind,
        extract_date,
        status
    from source
),

final as (
    select * from renamed
    where status = 'LOADED'
)

select * from final
