"""Indexes for what the audit, registry, inbox, outbox, SMS and task screens and APIs filter and sort by

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 09:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_log_username', 'audit_log', ['username'])
    op.create_index('ix_audit_log_region_at', 'audit_log', ['region_id', 'at'])
    op.create_index('ix_death_certificate_deceased_name', 'death_certificate', ['deceased_name'])
    op.create_index('ix_notification_user_created', 'notification', ['user_id', 'created_at'])
    op.create_index('ix_sms_message_phone', 'sms_message', ['phone'])
    op.create_index('ix_sms_message_created_at', 'sms_message', ['created_at'])
    op.create_index('ix_notification_created_at', 'notification', ['created_at'])
    op.create_index('ix_notification_department', 'notification', ['department_id'])
    op.create_index('ix_notification_address', 'notification', ['address'])
    op.create_index('ix_task_ready_at', 'task', ['ready_at'])


def downgrade():
    op.drop_index('ix_task_ready_at', table_name='task')
    op.drop_index('ix_notification_address', table_name='notification')
    op.drop_index('ix_notification_department', table_name='notification')
    op.drop_index('ix_notification_created_at', table_name='notification')
    op.drop_index('ix_sms_message_created_at', table_name='sms_message')
    op.drop_index('ix_sms_message_phone', table_name='sms_message')
    op.drop_index('ix_notification_user_created', table_name='notification')
    op.drop_index('ix_death_certificate_deceased_name', table_name='death_certificate')
    op.drop_index('ix_audit_log_region_at', table_name='audit_log')
    op.drop_index('ix_audit_log_username', table_name='audit_log')
