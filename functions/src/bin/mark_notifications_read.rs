admit_functions::main!(mark_notifications_read);
