"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 15:38:06.819179
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('agencies',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('headcount_quota', sa.Integer(), nullable=False),
    sa.Column('headcount_used', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['agencies.id'], name=op.f('fk_agencies_parent_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agencies')),
    sa.UniqueConstraint('code', name=op.f('uq_agencies_code'))
    )
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agencies_parent_id'), ['parent_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('row_hash', sa.String(length=64), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_log')),
    sa.UniqueConstraint('entry_hash', name=op.f('uq_audit_log_entry_hash'))
    )
    op.create_table('users',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_users_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_agency_id'), ['agency_id'], unique=False)

    op.create_table('auxiliaries',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('command_agency_id', sa.Uuid(), nullable=True),
    sa.Column('badge_no', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('education', sa.String(length=16), nullable=False),
    sa.Column('hire_method', sa.String(length=16), nullable=False),
    sa.Column('dispatch_company', sa.String(length=200), nullable=True),
    sa.Column('hired_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('zones', sa.JSON(), nullable=True),
    sa.Column('background', sa.JSON(), nullable=False),
    sa.Column('preferences', sa.JSON(), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('items_recovered', sa.JSON(), nullable=True),
    sa.Column('photo', sa.LargeBinary(), nullable=True),
    sa.Column('photo_type', sa.String(length=32), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_auxiliaries_agency_id_agencies')),
    sa.ForeignKeyConstraint(['command_agency_id'], ['agencies.id'], name=op.f('fk_auxiliaries_command_agency_id_agencies')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auxiliaries_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auxiliaries')),
    sa.UniqueConstraint('badge_no', name=op.f('uq_auxiliaries_badge_no')),
    sa.UniqueConstraint('user_id', name=op.f('uq_auxiliaries_user_id'))
    )
    with op.batch_alter_table('auxiliaries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auxiliaries_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_auxiliaries_command_agency_id'), ['command_agency_id'], unique=False)

    op.create_table('officers',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('cert_no', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_officers_agency_id_agencies')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_officers_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officers')),
    sa.UniqueConstraint('user_id', name=op.f('uq_officers_user_id'))
    )
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_officers_agency_id'), ['agency_id'], unique=False)

    op.create_table('refresh_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_refresh_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_refresh_tokens_token_hash'))
    )
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refresh_tokens_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refresh_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('article19_cases',
    sa.Column('attempt_id', sa.Uuid(), nullable=True),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('auxiliary_id', sa.Uuid(), nullable=True),
    sa.Column('requested_by', sa.Uuid(), nullable=False),
    sa.Column('reported_by', sa.Uuid(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_article19_cases_agency_id_agencies')),
    sa.ForeignKeyConstraint(['auxiliary_id'], ['auxiliaries.id'], name=op.f('fk_article19_cases_auxiliary_id_auxiliaries')),
    sa.ForeignKeyConstraint(['reported_by'], ['users.id'], name=op.f('fk_article19_cases_reported_by_users')),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_article19_cases_requested_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article19_cases')),
    sa.UniqueConstraint('attempt_id', name=op.f('uq_article19_cases_attempt_id'))
    )
    with op.batch_alter_table('article19_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_article19_cases_agency_id'), ['agency_id'], unique=False)

    op.create_table('credentials',
    sa.Column('auxiliary_id', sa.Uuid(), nullable=False),
    sa.Column('credential_no', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['auxiliary_id'], ['auxiliaries.id'], name=op.f('fk_credentials_auxiliary_id_auxiliaries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credentials')),
    sa.UniqueConstraint('auxiliary_id', 'version', name=op.f('uq_credentials_auxiliary_id')),
    sa.UniqueConstraint('credential_no', name=op.f('uq_credentials_credential_no'))
    )
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credentials_auxiliary_id'), ['auxiliary_id'], unique=False)

    op.create_table('dead_badge_scans',
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('auxiliary_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['auxiliary_id'], ['auxiliaries.id'], name=op.f('fk_dead_badge_scans_auxiliary_id_auxiliaries')),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_dead_badge_scans_credential_id_credentials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_badge_scans'))
    )
    with op.batch_alter_table('dead_badge_scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dead_badge_scans_auxiliary_id'), ['auxiliary_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dead_badge_scans_credential_id'), ['credential_id'], unique=False)

    op.create_table('shift_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('auxiliary_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lat', sa.Double(), nullable=False),
    sa.Column('lon', sa.Double(), nullable=False),
    sa.Column('accuracy_m', sa.Double(), nullable=True),
    sa.Column('in_zone', sa.Boolean(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['auxiliary_id'], ['auxiliaries.id'], name=op.f('fk_shift_events_auxiliary_id_auxiliaries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_events'))
    )
    with op.batch_alter_table('shift_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shift_events_auxiliary_id'), ['auxiliary_id'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('auxiliary_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('command_agency_id', sa.Uuid(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lat', sa.Double(), nullable=False),
    sa.Column('lon', sa.Double(), nullable=False),
    sa.Column('in_zone', sa.Boolean(), nullable=True),
    sa.Column('officer_id', sa.Uuid(), nullable=True),
    sa.Column('assignment_ref', sa.Text(), nullable=True),
    sa.Column('legal_basis', sa.Text(), nullable=True),
    sa.Column('corrects_id', sa.Uuid(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('recorded_by', sa.Uuid(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_tasks_agency_id_agencies')),
    sa.ForeignKeyConstraint(['auxiliary_id'], ['auxiliaries.id'], name=op.f('fk_tasks_auxiliary_id_auxiliaries')),
    sa.ForeignKeyConstraint(['command_agency_id'], ['agencies.id'], name=op.f('fk_tasks_command_agency_id_agencies')),
    sa.ForeignKeyConstraint(['corrects_id'], ['tasks.id'], name=op.f('fk_tasks_corrects_id_tasks')),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_tasks_officer_id_officers')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_tasks_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')),
    sa.UniqueConstraint('corrects_id', name=op.f('uq_tasks_corrects_id'))
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_auxiliary_id'), ['auxiliary_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_command_agency_id'), ['command_agency_id'], unique=False)
        batch_op.create_index('ix_tasks_officer_status', ['officer_id', 'status'], unique=False)

    op.create_table('trainings',
    sa.Column('auxiliary_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('hours', sa.Double(), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('recorded_by', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['auxiliary_id'], ['auxiliaries.id'], name=op.f('fk_trainings_auxiliary_id_auxiliaries')),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_trainings_recorded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trainings'))
    )
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trainings_auxiliary_id'), ['auxiliary_id'], unique=False)

    op.create_table('cosignatures',
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('officer_id', sa.Uuid(), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('lat', sa.Double(), nullable=True),
    sa.Column('lon', sa.Double(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_cosignatures_officer_id_officers')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_cosignatures_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cosignatures')),
    sa.UniqueConstraint('task_id', name=op.f('uq_cosignatures_task_id'))
    )
    op.create_table('evidence',
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('uploaded_by', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_evidence_task_id_tasks')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_evidence_uploaded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence')),
    sa.UniqueConstraint('task_id', 'sha256', name=op.f('uq_evidence_task_id'))
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_task_id'), ['task_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_task_id'))

    op.drop_table('evidence')
    op.drop_table('cosignatures')
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trainings_auxiliary_id'))

    op.drop_table('trainings')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_officer_status')
        batch_op.drop_index(batch_op.f('ix_tasks_command_agency_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_auxiliary_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_agency_id'))

    op.drop_table('tasks')
    with op.batch_alter_table('shift_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_events_auxiliary_id'))

    op.drop_table('shift_events')
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credentials_auxiliary_id'))

    op.drop_table('dead_badge_scans')
    op.drop_table('credentials')
    with op.batch_alter_table('article19_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article19_cases_agency_id'))

    op.drop_table('article19_cases')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_refresh_tokens_family_id'))

    op.drop_table('refresh_tokens')
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_officers_agency_id'))

    op.drop_table('officers')
    with op.batch_alter_table('auxiliaries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auxiliaries_command_agency_id'))
        batch_op.drop_index(batch_op.f('ix_auxiliaries_agency_id'))

    op.drop_table('auxiliaries')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_agency_id'))

    op.drop_table('users')
    op.drop_table('audit_log')
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agencies_parent_id'))

    op.drop_table('agencies')

