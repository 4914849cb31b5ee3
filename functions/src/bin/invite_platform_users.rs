admit_functions::main!(invite_platform_users);
