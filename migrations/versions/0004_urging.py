"""督办: supervisors' urgings of tasks; a partial index for the open-task work queue

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 20:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OPEN_STATES = "status IN ('waiting', 'ready', 'accepted', 'supplement_requested')"


def upgrade():
    op.create_table(
        'task_urging',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('username', sa.String(length=128), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['task.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('task_urging', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_urging_task_id'), ['task_id'], unique=False)

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index(
            'ix_task_open_department_deadline', ['department_id', 'deadline'], unique=False,
            sqlite_where=sa.text(OPEN_STATES), postgresql_where=sa.text(OPEN_STATES),
        )


def downgrade():
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_open_department_deadline')

    with op.batch_alter_table('task_urging', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_urging_task_id'))
    op.drop_table('task_urging')
