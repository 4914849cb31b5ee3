admit_functions::main!(self_register_mi_user);
