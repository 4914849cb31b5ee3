admit_functions::main!(assign_member_to_teams);
