admit_functions::main!(invite_mi_user);
