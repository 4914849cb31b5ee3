admit_functions::main!(revoke_invitation);
