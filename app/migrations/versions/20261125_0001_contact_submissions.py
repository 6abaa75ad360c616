"""contact_submissions: structured columns plus JSONB metadata with a GIN index

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE contact_submissions (
            id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
            email       text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
            subject     text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 200),
            message     text NOT NULL CHECK (char_length(message) BETWEEN 1 AND 10000),
            metadata    jsonb NOT NULL DEFAULT '{}'::jsonb
                        CHECK (jsonb_typeof(metadata) = 'object'),
            created_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # Keyset pagination walks this index newest-first.
    op.execute(
        "CREATE INDEX ix_contact_submissions_created_at_id "
        "ON contact_submissions (created_at DESC, id DESC)"
    )
    # Containment filters (metadata @> '{"tags": ["x"]}') use this index.
    op.execute(
        "CREATE INDEX ix_contact_submissions_metadata "
        "ON contact_submissions USING gin (metadata jsonb_path_ops)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE contact_submissions")
