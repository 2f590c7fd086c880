-- Following an order of the altinn gateway until every address is final (issue 25): workers poll
-- Notifications' shipment status under a lease (app/usecases/lease.py) with a backoff, and give up
-- after an age (the addresses not final then are Failed, reason "unknown").
ALTER TABLE notification_orders ADD COLUMN check_due timestamptz;
ALTER TABLE notification_orders ADD COLUMN check_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE notification_orders ADD COLUMN check_locked_until timestamptz;
ALTER TABLE notification_orders ADD COLUMN check_lease_owner uuid;
-- Altinn's final order status (Order_Completed, Order_SendConditionNotMet, Order_Cancelled) as read.
ALTER TABLE notification_orders ADD COLUMN order_status text;
CREATE INDEX notification_orders_to_check_idx ON notification_orders (check_due)
    WHERE gateway = 'altinn' AND status = 'Success' AND delivery_status IS NULL;
