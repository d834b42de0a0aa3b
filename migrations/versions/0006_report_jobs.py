"""Reports generated in the background; tasks indexed by when they finished; a window's
case ids read from an index

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('fmt', sa.String(length=8), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=True),
        sa.Column('period_end', sa.Date(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('progress', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('filename', sa.String(length=128), nullable=True),
        sa.Column('content', sa.LargeBinary(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['region_id'], ['region.id']),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('report_job', schema=None) as batch_op:
        batch_op.create_index('ix_report_job_lookup',
                              ['kind', 'fmt', 'region_id', 'period_start', 'period_end', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_job_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_finished_at'), ['finished_at'], unique=False)

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index('ix_case_department_id_id', ['department_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_department_id_id')

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_finished_at'))

    with op.batch_alter_table('report_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_job_user_id'))
        batch_op.drop_index('ix_report_job_lookup')
    op.drop_table('report_job')
