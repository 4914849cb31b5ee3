admit_functions::main!(user_activity_report);
