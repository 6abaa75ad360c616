"""documents (attachments, insights, full-text vector) and jobs (durable background work)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE contact_submissions ADD COLUMN notified_at timestamptz")
    op.execute(
        """
        CREATE TABLE documents (
            id                uuid PRIMARY KEY,
            contact_id        uuid NOT NULL REFERENCES contact_submissions (id) ON DELETE CASCADE,
            position          integer NOT NULL DEFAULT 0,  -- order within the submission
            filename          text NOT NULL CHECK (octet_length(filename) BETWEEN 1 AND 255),
            content_type      text NOT NULL,
            size_bytes        bigint NOT NULL CHECK (size_bytes > 0),
            sha256            text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
            storage_key       text NOT NULL UNIQUE,
            processing_status text NOT NULL DEFAULT 'pending'
                              CHECK (processing_status IN
                                     ('pending', 'processing', 'completed', 'failed')),
            processing_error  text,
            insights          jsonb NOT NULL DEFAULT '{}'::jsonb,
            extracted_text    text,
            -- Filename weighs more than body text; both stemmed as English.
            search_vector     tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english'::regconfig, filename), 'A') ||
                setweight(to_tsvector('english'::regconfig, coalesce(extracted_text, '')), 'B')
            ) STORED,
            created_at        timestamptz NOT NULL DEFAULT now(),
            updated_at        timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX ix_documents_contact_id ON documents (contact_id)")
    op.execute("CREATE INDEX ix_documents_created_at_id ON documents (created_at DESC, id DESC)")
    op.execute("CREATE INDEX ix_documents_status ON documents (processing_status)")
    op.execute(
        "CREATE INDEX ix_documents_insights ON documents USING gin (insights jsonb_path_ops)"
    )
    op.execute("CREATE INDEX ix_documents_search_vector ON documents USING gin (search_vector)")
    op.execute(
        """
        CREATE TABLE jobs (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            task          text NOT NULL,
            payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
            status        text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'running', 'done', 'dead')),
            attempts      integer NOT NULL DEFAULT 0,
            max_attempts  integer NOT NULL CHECK (max_attempts >= 1),
            run_at        timestamptz NOT NULL DEFAULT now(),
            locked_until  timestamptz,
            last_error    text,
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now(),
            finished_at   timestamptz
        )
        """
    )
    # What a worker looks for: due pending jobs and running jobs whose lease ran out.
    op.execute(
        "CREATE INDEX ix_jobs_runnable ON jobs (run_at) WHERE status IN ('pending', 'running')"
    )
    op.execute("CREATE INDEX ix_jobs_status_task ON jobs (status, task)")


def downgrade() -> None:
    op.execute("DROP TABLE jobs")
    op.execute("DROP TABLE documents")
    op.execute("ALTER TABLE contact_submissions DROP COLUMN notified_at")
