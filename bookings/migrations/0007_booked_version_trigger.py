"""Raises `Tenant.booked_version` in every transaction that changes booked time, whichever code writes it.

A deferrable constraint trigger runs at commit, after every other lock the transaction takes, so the one
tenant row it updates never takes part in a deadlock. Once per tenant and transaction (a transaction-local
setting remembers which tenants it has raised), so a bulk insert costs one update, not one per row.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION bookings_booked_version_raise() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tenant bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
    raised text := coalesce(current_setting('bookings.booked_raised', true), '');
BEGIN
    IF position(',' || tenant || ',' IN raised) = 0 THEN
        UPDATE accounts_tenant SET booked_version = booked_version + 1 WHERE id = tenant;
        PERFORM set_config('bookings.booked_raised', raised || ',' || tenant || ',', true);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER booked_version_assignment_written
    AFTER INSERT OR DELETE ON bookings_bookingassignment
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION bookings_booked_version_raise();

CREATE CONSTRAINT TRIGGER booked_version_assignment_changed
    AFTER UPDATE ON bookings_bookingassignment
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.is_active, OLD.occupied, OLD.officer_id, OLD.resource_id, OLD.booking_id, OLD.session_key)
          IS DISTINCT FROM
          (NEW.is_active, NEW.occupied, NEW.officer_id, NEW.resource_id, NEW.booking_id, NEW.session_key))
    EXECUTE FUNCTION bookings_booked_version_raise();

CREATE CONSTRAINT TRIGGER booked_version_hold_changed
    AFTER UPDATE ON bookings_booking
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.status, OLD.hold_expires_at) IS DISTINCT FROM (NEW.status, NEW.hold_expires_at))
    EXECUTE FUNCTION bookings_booked_version_raise();
"""

BACKWARD = """
DROP TRIGGER booked_version_hold_changed ON bookings_booking;
DROP TRIGGER booked_version_assignment_changed ON bookings_bookingassignment;
DROP TRIGGER booked_version_assignment_written ON bookings_bookingassignment;
DROP FUNCTION bookings_booked_version_raise();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_tenant_booked_version"),
        ("bookings", "0006_booking_sequence_survey_responses"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
