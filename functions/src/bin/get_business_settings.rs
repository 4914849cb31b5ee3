admit_functions::main!(get_business_settings);
