admit_functions::main!(request_password_reset);
