"""The ingest library, Prefect-free, one module per stage in the order data moves:

    discover  what landed, what is due, and the plan: chunks of files, slices of rows
    read      file checks, rows as text, bad rows, the slice's rows staged in DuckDB
    validate  the GX suites over the slice, Data Docs pages of the results
    pseudonymise  nik and kpj hashed, quarantine records masked, the slice as Parquet
    worker    a worker's whole job on one slice: read, validate, pseudonymise
    load      the single writer: circuit breaker, audit rows, raw.* from the Parquet

A stage imports only the stages before it, `cakupan.warehouse`, and the two modules every
stage shares: `extracts` (the extract interface: kinds, names, columns) and `audit` (file
statuses, per-file outcomes, audit.extract_files rows).
"""
