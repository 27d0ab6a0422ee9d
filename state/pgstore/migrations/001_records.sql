-- Version 1: workspaces and their records.
--
-- A workspace is one working directory's state; several share a database.
-- Its serial counts the changes made to it, as the file store's does.
CREATE TABLE ledgerform_workspaces (
    id      bigserial PRIMARY KEY,
    name    text NOT NULL UNIQUE,
    lineage text NOT NULL,
    serial  bigint NOT NULL DEFAULT 0,
    created timestamptz NOT NULL DEFAULT now()
);

-- One row per report: the record as state.Record's JSON. Addresses sort
-- by their bytes (COLLATE "C"), as Go sorts strings.
CREATE TABLE ledgerform_records (
    workspace bigint NOT NULL REFERENCES ledgerform_workspaces (id) ON DELETE CASCADE,
    address   text COLLATE "C" NOT NULL,
    record    jsonb NOT NULL,
    serial    bigint NOT NULL,
    updated   timestamptz NOT NULL,
    PRIMARY KEY (workspace, address)
);
