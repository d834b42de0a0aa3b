"""Which departments issue which death proof (data, not a department code in the
code); a case that contradicts its registered death proof, accepted by the clerk

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certificate_kind', sa.String(length=16), nullable=True))
    # Until the seed runs again: 卫健 issues medical death certificates, 公安 unnatural-death ones.
    op.execute("UPDATE department SET certificate_kind = 'medical' WHERE code = 'WJ'")
    op.execute("UPDATE department SET certificate_kind = 'unnatural' WHERE code = 'GA'")
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registry_differences_accepted', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('registry_differences_accepted')
    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.drop_column('certificate_kind')
