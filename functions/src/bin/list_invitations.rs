admit_functions::main!(list_invitations);
