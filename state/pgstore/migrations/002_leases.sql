-- Version 2: several processes on one workspace.
--
-- Who holds a workspace's advisory lock (the lock itself is PostgreSQL's,
-- released when the holder's session ends): for the error of whoever finds
-- it taken. A row whose backend holds no lock any more is stale.
CREATE TABLE ledgerform_holders (
    backend_pid integer NOT NULL,
    workspace   bigint NOT NULL REFERENCES ledgerform_workspaces (id) ON DELETE CASCADE,
    mode        text NOT NULL,
    host        text NOT NULL,
    pid         integer NOT NULL,
    since       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (backend_pid, workspace)
);

-- The leases of the daemons that share a workspace: a report is worked on
-- by its lease's owner until the lease expires (by the database's clock).
CREATE TABLE ledgerform_leases (
    workspace bigint NOT NULL REFERENCES ledgerform_workspaces (id) ON DELETE CASCADE,
    address   text COLLATE "C" NOT NULL,
    owner     text NOT NULL,
    expires   timestamptz NOT NULL,
    PRIMARY KEY (workspace, address)
);
