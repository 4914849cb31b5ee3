admit_functions::main!(put_business_settings);
