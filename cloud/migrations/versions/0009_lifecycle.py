"""lifecycle: a job's hold, the job of a command, occupancy derived from print runs

Revision ID: 0009_lifecycle
Revises: 0008_broker_logins

- `jobs.hold`: the user asked to pause the job (cloud/lifecycle/machine.py);
- `jobs.version`: optimistic locking of job writes (two writers cannot both act);
- `printer_commands.job_id`: the job a start, pause, resume or cancel is about;
- `printers.current_job_id` goes: a printer's current job is the job of its active print
  run (cloud/lifecycle/occupancy.py), which the database allows one of per printer.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_lifecycle"
down_revision = "0008_broker_logins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "jobs", sa.Column("hold", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("jobs", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("printer_commands", sa.Column("job_id", sa.String(length=32), nullable=True))
    # A start already written names its job through its print run.
    op.execute(
        "UPDATE printer_commands SET job_id = (SELECT job_id FROM prints "
        "WHERE prints.command_id = printer_commands.id) WHERE action = 'start_job'"
    )
    with op.batch_alter_table("printers") as batch:
        batch.drop_column("current_job_id")


def downgrade() -> None:
    with op.batch_alter_table("printers") as batch:
        batch.add_column(sa.Column("current_job_id", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE printers SET current_job_id = (SELECT job_id FROM prints WHERE prints.printer_id "
        "= printers.id AND prints.status IN ('assigned', 'printing', 'paused'))"
    )
    with op.batch_alter_table("printer_commands") as batch:
        batch.drop_column("job_id")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("version")
        batch.drop_column("hold")
