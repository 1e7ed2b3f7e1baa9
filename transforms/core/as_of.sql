-- The date the warehouse describes: the latest extract date among loaded files
-- (a header-only file counts). NULL while nothing is loaded.
with loaded_files as (
    select * from staging.extract_files
),

final as (
    select max(extract_date) as as_of
    from loaded_files
)

select * from final
