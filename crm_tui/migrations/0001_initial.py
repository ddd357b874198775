"""The initial schema: a frozen copy of every table as version 1 created it."""

from peewee import *  # noqa: F403

def up(migrator, db):
    class Attachment(Model):
        owner_kind = CharField(max_length=20)
        owner_id = IntegerField()
        original_name = CharField(max_length=300)
        stored_name = CharField(unique=True, max_length=100)
        content_type = CharField(max_length=100, default='application/octet-stream')
        size = BigIntegerField(default=0)
        author = CharField(max_length=200, default='')
        created = DateTimeField()
        class Meta:
            database = db
            table_name = 'attachment'
            indexes = ((('owner_kind', 'owner_id'), False),)
    db.create_tables([Attachment])

    class CompanyRole(Model):
        name = CharField(unique=True, max_length=100)
        class Meta:
            database = db
            table_name = 'company_role'
    db.create_tables([CompanyRole])

    class User(Model):
        login = CharField(unique=True, max_length=60)
        real_name = CharField(max_length=200, default='')
        email = CharField(max_length=200, default='')
        phone = CharField(max_length=60, default='')
        employee_number = CharField(max_length=60, default='')
        language = CharField(max_length=10, default='en')
        os_login = CharField(unique=True, null=True, max_length=60)
        password_hash = CharField(max_length=200, default='')
        enabled = BooleanField(default=True)
        superadmin = BooleanField(default=False)
        # Companies point back at users, so this reference is a plain column here.
        company = IntegerField(null=True, column_name='company_id', index=True)
        class Meta:
            database = db
            table_name = 'user'
    db.create_tables([User])

    class Company(Model):
        name = CharField(unique=True, max_length=200)
        address = TextField(default='')
        fiscal_id = CharField(max_length=60, default='')
        country = CharField(index=True, max_length=100, default='')
        website = CharField(max_length=200, default='')
        comments = TextField(default='')
        role = ForeignKeyField(CompanyRole, null=True, on_delete='SET NULL')
        parent = ForeignKeyField('self', null=True, on_delete='RESTRICT')
        manager = ForeignKeyField(User, null=True, on_delete='SET NULL')
        last_update = DateTimeField(null=True)
        payment_conditions = IntegerField(null=True)
        class Meta:
            database = db
            table_name = 'company'
            indexes = ((('parent', 'name'), False), (('manager',), False))
    db.create_tables([Company])

    class CompanyActivity(Model):
        company = ForeignKeyField(Company, on_delete='CASCADE')
        author = CharField(max_length=200)
        created = DateTimeField()
        text = TextField()
        class Meta:
            database = db
            table_name = 'company_activity'
            indexes = ((('company', 'created'), False),)
    db.create_tables([CompanyActivity])

    class Contact(Model):
        full_name = CharField(max_length=200)
        email = CharField(index=True, max_length=200)
        company = ForeignKeyField(Company, on_delete='RESTRICT')
        phone = CharField(max_length=60, default='')
        mobile = CharField(max_length=60, default='')
        position = CharField(max_length=100, default='')
        description = TextField(default='')
        class Meta:
            database = db
            table_name = 'contact'
            indexes = ((('company', 'full_name'), False), (('full_name',), False))
    db.create_tables([Contact])

    class ContractType(Model):
        name = CharField(unique=True, max_length=100)
        description = TextField(default='')
        class Meta:
            database = db
            table_name = 'contract_type'
    db.create_tables([ContractType])

    class Contract(Model):
        name = CharField(max_length=200)
        contract_number = CharField(max_length=100, default='')
        description = TextField(default='')
        date_begin = DateField(null=True)
        date_end = DateField(index=True, null=True)
        company = ForeignKeyField(Company, on_delete='RESTRICT')
        sla = IntegerField(null=True)
        group = IntegerField(null=True)
        private = BooleanField(default=False)
        status = IntegerField(default=1)
        contract_type = ForeignKeyField(ContractType, null=True, on_delete='RESTRICT')
        related_contract = ForeignKeyField('self', null=True, on_delete='SET NULL')
        manager = ForeignKeyField(User, null=True, on_delete='SET NULL')
        created = DateTimeField(null=True)
        updated = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'contract'
            indexes = ((('company', 'name'), False), (('name',), False))
    db.create_tables([Contract])

    class Invoice(Model):
        company = ForeignKeyField(Company, on_delete='RESTRICT')
        type = CharField(max_length=10, default='submitted')
        bill_id = CharField(unique=True, max_length=100)
        bill_series = CharField(null=True, max_length=100)
        bill_number = IntegerField(null=True)
        reference = CharField(max_length=100, default='')
        status = CharField(index=True, max_length=10, default='pending')
        created = DateField(index=True)
        expires = DateField(null=True)
        paid_on = DateField(null=True)
        currency = CharField(max_length=3, default='EUR')
        language = CharField(max_length=10, default='en')
        tax_rate = DecimalField(max_digits=7, decimal_places=3, default=0)
        withholding_rate = DecimalField(max_digits=7, decimal_places=3, default=0)
        internal_note = TextField(default='')
        description = TextField(default='')
        total = DecimalField(max_digits=16, decimal_places=2, index=True, default=0)
        locked = BooleanField(default=False)
        locked_by = ForeignKeyField(User, null=True, on_delete='SET NULL')
        updated = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'invoice'
            indexes = ((('bill_series', 'bill_number'), False), (('company', 'created'), False))
    db.create_tables([Invoice])

    class ContractInvoice(Model):
        contract = ForeignKeyField(Contract, on_delete='CASCADE')
        invoice = ForeignKeyField(Invoice, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'contract_invoice'
            indexes = ((('contract', 'invoice'), True),)
    db.create_tables([ContractInvoice])

    class ContractTemplate(Model):
        name = CharField(unique=True, max_length=100)
        description = TextField(default='')
        body = TextField(default='')
        class Meta:
            database = db
            table_name = 'contract_template'
    db.create_tables([ContractTemplate])

    class CustomFieldSection(Model):
        name = CharField(unique=True, max_length=100)
        description = TextField(default='')
        class Meta:
            database = db
            table_name = 'custom_field_section'
    db.create_tables([CustomFieldSection])

    class CustomField(Model):
        name = CharField(max_length=100)
        kind = CharField(max_length=20)
        entity = CharField(max_length=20)
        entity_type_id = IntegerField(null=True)
        section = ForeignKeyField(CustomFieldSection, null=True, on_delete='SET NULL')
        options = TextField(default='')
        visible = BooleanField(default=False)
        position = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'custom_field'
            indexes = ((('entity', 'entity_type_id', 'name'), True),)
    db.create_tables([CustomField])

    class CustomValue(Model):
        field = ForeignKeyField(CustomField, on_delete='CASCADE')
        record_id = IntegerField()
        value = TextField(default='')
        class Meta:
            database = db
            table_name = 'custom_value'
            indexes = ((('field', 'record_id'), True), (('record_id',), False))
    db.create_tables([CustomValue])

    class LeadType(Model):
        name = CharField(unique=True, max_length=100)
        description = TextField(default='')
        class Meta:
            database = db
            table_name = 'lead_type'
    db.create_tables([LeadType])

    class Lead(Model):
        full_name = CharField(max_length=200)
        email = CharField(max_length=200, default='')
        email_key = CharField(index=True, max_length=200, default='')
        company_name = CharField(max_length=200, default='')
        country = CharField(max_length=100, default='')
        position = CharField(max_length=100, default='')
        phone = CharField(max_length=60, default='')
        language = CharField(max_length=10, default='en')
        owner = ForeignKeyField(User, null=True, on_delete='SET NULL')
        company = ForeignKeyField(Company, null=True, on_delete='RESTRICT')
        estimated_sale = DecimalField(max_digits=16, decimal_places=2, default=0)
        estimated_close = DateField(null=True)
        status = IntegerField(default=0)
        lead_type = ForeignKeyField(LeadType, null=True, on_delete='SET NULL')
        channel = CharField(max_length=60, default='')
        description = TextField(default='')
        created = DateTimeField()
        updated = DateTimeField()
        class Meta:
            database = db
            table_name = 'lead'
            indexes = ((('status', 'estimated_sale'), False), (('status', 'updated'), False), (('status', 'estimated_close'), False), (('company', 'status'), False), (('owner', 'status'), False), (('country',), False), (('channel',), False), (('created',), False), (('full_name',), False))
    db.create_tables([Lead])

    class LeadActivity(Model):
        lead = ForeignKeyField(Lead, on_delete='CASCADE')
        kind = CharField(max_length=20)
        author = CharField(max_length=200)
        created = DateTimeField()
        text = TextField(default='')
        class Meta:
            database = db
            table_name = 'lead_activity'
            indexes = ((('lead', 'created'), False),)
    db.create_tables([LeadActivity])

    class FiledMessage(Model):
        key = CharField(unique=True, max_length=300)
        uidvalidity = BigIntegerField(null=True)
        uid = BigIntegerField(null=True)
        lead = ForeignKeyField(Lead, null=True, on_delete='SET NULL')
        activity = ForeignKeyField(LeadActivity, null=True, on_delete='SET NULL')
        outcome = CharField(max_length=20)
        reason = TextField(default='')
        created = DateTimeField()
        class Meta:
            database = db
            table_name = 'filed_message'
            indexes = ((('uidvalidity', 'uid'), False),)
    db.create_tables([FiledMessage])

    class InvoiceDiscount(Model):
        invoice = ForeignKeyField(Invoice, on_delete='CASCADE')
        position = IntegerField(default=0)
        description = CharField(max_length=500)
        amount = DecimalField(max_digits=16, decimal_places=2)
        class Meta:
            database = db
            table_name = 'invoice_discount'
    db.create_tables([InvoiceDiscount])

    class InvoiceLine(Model):
        invoice = ForeignKeyField(Invoice, on_delete='CASCADE')
        position = IntegerField(default=0)
        description = CharField(max_length=500)
        amount = DecimalField(max_digits=16, decimal_places=2)
        class Meta:
            database = db
            table_name = 'invoice_line'
    db.create_tables([InvoiceLine])

    class Tag(Model):
        name = CharField(unique=True, max_length=60)
        colour = CharField(max_length=20, default='blue')
        class Meta:
            database = db
            table_name = 'tag'
    db.create_tables([Tag])

    class LeadTag(Model):
        lead = ForeignKeyField(Lead, on_delete='CASCADE')
        tag = ForeignKeyField(Tag, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'lead_tag'
            indexes = ((('lead', 'tag'), True), (('tag',), False))
    db.create_tables([LeadTag])

    class MailTemplate(Model):
        name = CharField(max_length=100)
        language = CharField(max_length=10, default='en')
        subject = CharField(max_length=300, default='')
        body = TextField(default='')
        company = ForeignKeyField(Company, null=True, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'mail_template'
            indexes = ((('name', 'language'), True),)
    db.create_tables([MailTemplate])

    class Profile(Model):
        name = CharField(unique=True, max_length=100)
        bits = CharField(max_length=100, default='')
        class Meta:
            database = db
            table_name = 'profile'
    db.create_tables([Profile])

    class SavedSearch(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        name = CharField(max_length=100)
        query = TextField(default='{}')
        class Meta:
            database = db
            table_name = 'saved_search'
            indexes = ((('user', 'name'), True),)
    db.create_tables([SavedSearch])

    class SentMail(Model):
        lead = ForeignKeyField(Lead, on_delete='CASCADE')
        message_id = CharField(unique=True, max_length=300)
        recipients = TextField(default='')
        created = DateTimeField()
        class Meta:
            database = db
            table_name = 'sent_mail'
    db.create_tables([SentMail])

    class Setting(Model):
        key = CharField(primary_key=True, max_length=100)
        value = TextField(default='')
        class Meta:
            database = db
            table_name = 'setting'
    db.create_tables([Setting])

    class UserProfile(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        profile = ForeignKeyField(Profile, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'user_profile'
            indexes = ((('user', 'profile'), True),)
    db.create_tables([UserProfile])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('user_profile'))
    migrator.migrate(migrator.drop_table('setting'))
    migrator.migrate(migrator.drop_table('sent_mail'))
    migrator.migrate(migrator.drop_table('saved_search'))
    migrator.migrate(migrator.drop_table('profile'))
    migrator.migrate(migrator.drop_table('mail_template'))
    migrator.migrate(migrator.drop_table('lead_tag'))
    migrator.migrate(migrator.drop_table('tag'))
    migrator.migrate(migrator.drop_table('invoice_line'))
    migrator.migrate(migrator.drop_table('invoice_discount'))
    migrator.migrate(migrator.drop_table('filed_message'))
    migrator.migrate(migrator.drop_table('lead_activity'))
    migrator.migrate(migrator.drop_table('lead'))
    migrator.migrate(migrator.drop_table('lead_type'))
    migrator.migrate(migrator.drop_table('custom_value'))
    migrator.migrate(migrator.drop_table('custom_field'))
    migrator.migrate(migrator.drop_table('custom_field_section'))
    migrator.migrate(migrator.drop_table('contract_template'))
    migrator.migrate(migrator.drop_table('contract_invoice'))
    migrator.migrate(migrator.drop_table('invoice'))
    migrator.migrate(migrator.drop_table('contract'))
    migrator.migrate(migrator.drop_table('contract_type'))
    migrator.migrate(migrator.drop_table('contact'))
    migrator.migrate(migrator.drop_table('company_activity'))
    migrator.migrate(migrator.drop_table('company'))
    migrator.migrate(migrator.drop_table('user'))
    migrator.migrate(migrator.drop_table('company_role'))
    migrator.migrate(migrator.drop_table('attachment'))
