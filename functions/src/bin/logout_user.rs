admit_functions::main!(logout_user);
