admit_functions::main!(list_notifications);
