"""supplement requests stop a task's clock; a case records when it was cancelled

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 19:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supplement_requested_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('supplement_days_left', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('supplement_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('supplement_materials', sa.String(length=256), nullable=True))

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('cancelled_at')

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_column('supplement_materials')
        batch_op.drop_column('supplement_note')
        batch_op.drop_column('supplement_days_left')
        batch_op.drop_column('supplement_requested_at')
