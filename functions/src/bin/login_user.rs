admit_functions::main!(login_user);
